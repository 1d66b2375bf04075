"""The v2 ``face_matching`` contract: its types (``models``, the one definition of the wire, shared with
the Python client), the envelope of a result or an error (``envelope``) and ``/openapi.json`` generated
from the models (``schema``). Importing this package imports none of them."""
