export { clientModule, typeStem, type ModelTypesSource } from './client-module.js'
export { docComment, schemaToTs } from './schema-to-ts.js'
