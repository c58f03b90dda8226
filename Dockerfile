# Build stage: compile TypeScript and build the example models.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc* ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build

# Final stage: production dependencies and the built dist only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production CARAFE_HOST=0.0.0.0 CARAFE_PORT=8080 CARAFE_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json .npmrc* ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# examples/iris needs nothing more; the handler and OCR examples need the devDependencies, which are not here
COPY --from=build /app/examples ./examples
RUN useradd --system --uid 10001 carafe && mkdir -p /data /models && chown carafe /data
USER carafe
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.CARAFE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/carafe.js", "serve"]
CMD ["examples/iris"]
