"""/docs works on a closed network: the page and its assets come from the app itself."""


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "/static/swagger/swagger-ui.css" in page.text
    assert "cdn." not in page.text and "https://" not in page.text
    script = client.get("/static/swagger/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert client.get("/static/swagger/swagger-ui.css").status_code == 200


def test_oauth2_redirect_page_is_served(client):
    page = client.get("/docs/oauth2-redirect")
    assert page.status_code == 200
    assert "oauth2" in page.text.lower()


def test_openapi_declares_the_password_flow(client):
    schema = client.get("/openapi.json").json()
    flows = [s.get("flows", {}) for s in schema["components"]["securitySchemes"].values()]
    assert any(f.get("password", {}).get("tokenUrl") == "/api/v1/auth/token" for f in flows)
