// Starts Swagger UI on /docs (web/apidocs.py) from the locally served bundle: no inline
// script, no CDN. Only GET can be tried out: the API is read-only.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapi,
  domNode: root,
  deepLinking: true,
  validatorUrl: null,
  supportedSubmitMethods: ["get", "head"],
  defaultModelsExpandDepth: 0,
  docExpansion: "list",
});
