export { buildOpenApi, OPENAPI_VERSION } from './document.js'
