"""Validates request bodies against the Azure SDK's own model classes.

The current SDKs (azure-mgmt-resource 26, azure-mgmt-containerservice, azure-mgmt-
postgresqlflexibleservers) share one generated model base: each model class lists its REST
fields, with their wire names, visibility and Python type annotations. ARM refuses a body whose
fields have the wrong JSON type, and ignores read-only fields sent by a client; so do we.
"""

import enum
import sys
import types
import typing


class BodyError(ValueError):
    """A request body that ARM would answer with 400 InvalidRequestContent."""


def _hints(model_cls):
    module = sys.modules[model_cls.__module__]
    namespace = dict(vars(module))
    # Generated code refers to enums and models as `_models.X`, where `_models` is the models package.
    namespace["_models"] = sys.modules.get(module.__package__) or module
    hints = {}
    for klass in reversed(model_cls.__mro__):
        if klass.__module__ == model_cls.__module__:
            hints.update(typing.get_type_hints(klass, globalns=namespace))
    return hints


def _is_model(tp):
    return isinstance(tp, type) and hasattr(tp, "_attr_to_rest_field")


def _check(tp, value, path):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any:
        return
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                _check(option, value, path)
                return
            except BodyError as exc:
                errors.append(str(exc))
        raise BodyError(errors[0] if errors else f"{path}: invalid value")
    if origin is typing.Literal:
        if value not in args:
            raise BodyError(f"{path}: {value!r} is not one of {list(args)}")
        return
    if origin in (list, typing.List) or tp is list:
        if not isinstance(value, list):
            raise BodyError(f"{path}: expected an array, got {type(value).__name__}")
        for index, item in enumerate(value):
            _check(args[0] if args else typing.Any, item, f"{path}[{index}]")
        return
    if origin in (dict, typing.Dict) or tp is dict:
        if not isinstance(value, dict):
            raise BodyError(f"{path}: expected an object, got {type(value).__name__}")
        for key, item in value.items():
            _check(args[1] if len(args) > 1 else typing.Any, item, f"{path}.{key}")
        return
    if _is_model(tp):
        validate(tp, value, path)
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if value not in [member.value for member in tp]:
            raise BodyError(f"{path}: {value!r} is not one of {[m.value for m in tp]}")
        return
    expected = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}.get(tp)
    if expected is not None:
        if isinstance(value, bool) and tp is not bool:
            raise BodyError(f"{path}: expected {tp.__name__}, got a boolean")
        if not isinstance(value, expected):
            raise BodyError(f"{path}: expected {tp.__name__}, got {type(value).__name__} {value!r}")


def validate(model_cls, body, path="body", require=True):
    """Raise BodyError when `body` does not fit `model_cls`; return the model instance otherwise."""
    if not isinstance(body, dict):
        raise BodyError(f"{path}: expected an object, got {type(body).__name__}")
    model_cls({})  # the generated base fills _attr_to_rest_field on first use
    hints = _hints(model_cls)
    fields = model_cls._attr_to_rest_field  # pylint: disable=protected-access
    by_rest = {field._rest_name: (attr, field) for attr, field in fields.items()}  # pylint: disable=protected-access
    for rest_name, value in body.items():
        if rest_name not in by_rest:
            continue  # ARM ignores properties it does not know
        attr, field = by_rest[rest_name]
        visibility = field._visibility or []  # pylint: disable=protected-access
        if visibility == ["read"]:
            continue  # read-only fields sent back by clients are ignored, as ARM does
        if value is None:
            continue
        _check(hints.get(attr, typing.Any), value, f"{path}.{rest_name}")
    if require:
        for attr, field in fields.items():
            hint = hints.get(attr)
            visibility = field._visibility or []  # pylint: disable=protected-access
            optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and \
                type(None) in typing.get_args(hint)
            if hint is not None and not optional and "create" in visibility and field._rest_name not in body:  # pylint: disable=protected-access
                raise BodyError(f"{path}.{field._rest_name}: the property is required")  # pylint: disable=protected-access
    return model_cls(body)
