import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * Security headers for the web pages only (the JSON API stays as it is). The playground loads its scripts and styles
 * from /ui/assets on this origin and has no inline code, so 'self' is enough everywhere but images: an image field's
 * preview is a data: URL (the same string the instance carries), so no blob: URL is needed.
 */
export async function registerUiSecurity(ui: FastifyInstance): Promise<void> {
  await ui.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'], // the image preview shows the chosen file as the data URL it is sent as
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // HSTS pins browsers to HTTPS for a year: the operator's choice at the TLS proxy, not ours on plain HTTP
    strictTransportSecurity: false,
  })
}
