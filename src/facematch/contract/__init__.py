"""The v2 ``face_matching`` contract: the response envelope (``envelope``) and
the OpenAPI description (``openapi``), shared by the HTTP API and the CLI."""
