# Build stage: build and pack the library exactly as npm would publish it, and the iris example model.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && mkdir -p /out/app /out/models/iris/1 \
  && npm pack --pack-destination /out \
  && mv /out/carafe-*.tgz /out/app/carafe.tgz \
  && cp examples/iris/carafe.yaml /out/models/iris/ \
  && cp examples/iris/1/model.onnx /out/models/iris/1/ \
  && node -e "const p = require('./package.json'); require('node:fs').writeFileSync('/out/app/package.json', JSON.stringify({ private: true, dependencies: { carafe: 'file:carafe.tgz' }, overrides: p.overrides }))" \
  && cp .npmrc /out/app/

# Final stage: the packed tarball installed as any user's project installs it (production dependencies only),
# run as a non-root user; no source, tests or examples beyond the iris model.
FROM node:20-bookworm-slim
ENV NODE_ENV=production CARAFE_HOST=0.0.0.0 CARAFE_PORT=8080 CARAFE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /out/app/ ./
RUN npm install --omit=dev --no-audit --no-fund && rm carafe.tgz && npm cache clean --force
COPY --from=build /out/models /models
RUN useradd --system --uid 10001 carafe && mkdir -p /data && chown carafe /data
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CARAFE_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec form: node is PID 1, so the SIGTERM of `docker stop` reaches carafe's ordered shutdown (npx would not pass it on)
ENTRYPOINT ["node", "node_modules/carafe/bin/carafe.js", "serve"]
CMD ["/models/iris"]
