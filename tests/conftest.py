"""Test settings shared by every test module."""

from hypothesis import settings

# Property tests are reproducible (derandomized: the same examples every run) and
# judged on their answers, not their timing: the machine may be busy.
settings.register_profile("negsim", deadline=None, derandomize=True)
settings.load_profile("negsim")
