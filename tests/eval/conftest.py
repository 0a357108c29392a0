import pytest

from tests.eval import world


@pytest.fixture(scope="session")
def reports():
    """The eval clips' reports: made with ffmpeg and the real pipeline once per test session."""
    return world.reports()
