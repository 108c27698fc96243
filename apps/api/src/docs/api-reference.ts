import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The page at `GET /docs`: Swagger UI's stylesheet and bundle, then our initializer, all same-origin files. */
export const API_REFERENCE_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Leash API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise load a badge from validator.swagger.io.
export const API_REFERENCE_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
`;

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const cache = new Map<string, { type: string; body: Buffer }>();

/** A Swagger UI file from the installed swagger-ui-dist package, read once; undefined for any other name. */
export function referenceAsset(name: string): { type: string; body: Buffer } | undefined {
  const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!type) {
    return undefined;
  }
  let asset = cache.get(name);
  if (!asset) {
    const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
    asset = { type, body: readFileSync(join(dir, name)) };
    cache.set(name, asset);
  }
  return asset;
}
