"""The ARM error every handler raises; the HTTP core turns it into `{"error": {...}}`.

It lives in its own module so that `server.py`, run as a script, and the provider modules share one class.
"""


class ArmError(Exception):
    def __init__(self, status, code, message, headers=None, target=None, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.target = target
        self.details = details

    def body(self, default_target=None):
        error = {"code": self.code, "message": self.message}
        if self.target or default_target:
            error["target"] = self.target or default_target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(code, message, target=None):
    return ArmError(400, code, message, target=target)
