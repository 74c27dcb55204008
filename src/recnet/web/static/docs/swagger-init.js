// Starts Swagger UI on the document named by the page (data-openapi-url), with nothing fetched
// from outside the service: no validator badge, no remote configuration.
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The default validator is a public web service: asking it would send the document away.
    validatorUrl: null,
    // Tokens stay in the page's memory, never in the browser's storage.
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
