"""Shared fixture for the unit tests: run a module's main() in-process with given arguments and
return what it printed."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    """Return run(module, args, check_mode=False) -> the module's result dict."""

    def run(module, args, check_mode=False):
        arguments = dict(args, _ansible_check_mode=check_mode)
        with patch_module_args(arguments), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run
