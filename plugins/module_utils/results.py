"""Ending a module run: engine results carry a `warnings` list; Ansible wants them through
module.warn() (passing `warnings` to exit_json/fail_json is deprecated since ansible-core 2.19)."""


def _warn_all(module, result):
    for warning in result.pop("warnings", None) or []:
        module.warn(str(warning))


def exit_result(module, result):
    """Warn each engine warning, then exit with the rest of the result."""
    _warn_all(module, result)
    module.exit_json(**result)


def fail_result(module, msg, result):
    """Warn each engine warning, then fail with msg and the rest of the result."""
    _warn_all(module, result)
    module.fail_json(msg=msg, **result)
