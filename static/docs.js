// The API reference at /docs: Swagger UI (static/vendor/swagger-ui/) on the app's own OpenAPI
// document. A file of its own, so the page needs no inline script under the app's CSP.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // no badge fetched from validator.swagger.io: nothing leaves this origin
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
  });
});
