from tests.service.auth.helpers import base_url

__all__ = ["base_url"]
