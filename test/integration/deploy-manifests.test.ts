import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Container } from 'kubernetes-models/v1/Container'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { parse, parseAllDocuments } from 'yaml'
import { runCli, spawnServe } from '../helpers/cli.js'
import { example, ROOT } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown }
type ContainerSpec = {
  args: string[]
  env?: { name: string; value: string }[]
  ports: { name?: string; containerPort: number }[]
  readinessProbe: { httpGet: { path: string; port: number | string } }
  livenessProbe: { httpGet: { path: string; port: number | string } }
}

// The Kubernetes OpenAPI schemas as kubernetes-models ships them, by apiVersion/kind.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
}

function manifests(folder: string): Manifest[] {
  const dir = join(ROOT, 'deploy', folder)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Manifest))
}

const kube = manifests('kubernetes')
const kserve = manifests('kserve')
const byKind = (list: Manifest[], kind: string) => list.find((m) => m.kind === kind) as Manifest & { spec: never }

describe('deploy/kubernetes', () => {
  it('every manifest is valid against the Kubernetes OpenAPI schema of its kind', () => {
    for (const manifest of kube) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`]
      assert.ok(Model, `${manifest.kind} ${manifest.apiVersion}: no schema known to this test`)
      assert.doesNotThrow(() => new Model(manifest as never).validate(), `${manifest.kind} ${manifest.metadata.name}`)
    }
  })

  it('the schema check can fail: a Deployment with a misspelt field or a string port is refused', () => {
    const deployment = structuredClone(byKind(kube, 'Deployment')) as Manifest & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } }
    }
    deployment.spec.template.spec.containers[0]!.ports = [{ containerPort: '8080' }]
    assert.throws(() => new Deployment(deployment as never).validate())
  })

  it('kustomization lists every manifest file', () => {
    const dir = join(ROOT, 'deploy', 'kubernetes')
    const listed = (parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    assert.deepEqual([...listed].sort(), files.sort())
  })

  it('the Deployment drains: preStop and drainDelayMs inside the grace period, non-root, read-only root, writable data', () => {
    const { spec } = byKind(kube, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }
    const pod = spec.template.spec
    const server = serverConfig()
    const container = pod.containers[0]!
    const preStop = container.lifecycle.preStop.sleep.seconds
    assert.ok(server.drainDelayMs > 0, 'drainDelayMs set')
    assert.ok(pod.terminationGracePeriodSeconds > preStop + (server.drainDelayMs + server.shutdownTimeoutMs) / 1000)
    assert.equal(pod.securityContext.runAsNonRoot, true)
    assert.equal(container.securityContext.readOnlyRootFilesystem, true)
    const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)
    assert.ok(mounts.includes(server.dataDir), `the data dir ${server.dataDir} is a writable mount`)
    assert.ok(mounts.includes('/tmp'))
    assert.ok(container.resources.requests && container.resources.limits)
  })

  it('the Deployment, Service, PDB and HPA agree on labels, ports and the metric the server exports', async (t) => {
    const deployment = byKind(kube, 'Deployment') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; template: { spec: PodSpec } }
    }
    const labels = deployment.spec.selector.matchLabels
    const service = byKind(kube, 'Service') as unknown as { spec: { selector: Record<string, string> } }
    const pdb = byKind(kube, 'PodDisruptionBudget') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } }
    }
    assert.deepEqual(service.spec.selector, labels)
    assert.deepEqual(pdb.spec.selector.matchLabels, labels)
    const container = deployment.spec.template.spec.containers[0]!
    assert.equal(container.ports[0]!.containerPort, serverConfig().port)
    const hpa = byKind(kube, 'HorizontalPodAutoscaler') as unknown as {
      spec: { metrics: { pods: { metric: { name: string } } }[] }
    }
    const metric = hpa.spec.metrics[0]!.pods.metric.name
    const server = await serveAsDeployed(t, container)
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, new RegExp(`^${metric}\\{`, 'm'), `/metrics exports ${metric}`)
  })

  it('serve, with the Deployment’s args and config, answers its probes and a prediction with a key from the Secret', async (t) => {
    const container = (byKind(kube, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template
      .spec.containers[0]!
    const server = await serveAsDeployed(t, container)
    assert.equal((await get(`${server.url}${container.readinessProbe.httpGet.path}`)).status, 200)
    assert.equal((await get(`${server.url}${container.livenessProbe.httpGet.path}`)).status, 200)
    const body = { instances: [[5.1, 3.5, 1.4, 0.2]] }
    assert.equal((await post(`${server.url}/v1/models/iris:predict`, body)).status, 401)
    const key = Object.values(parse(secretFile()) as Record<string, string>)[0]!
    const answer = await post(`${server.url}/v1/models/iris:predict`, body, { authorization: `Bearer ${key}` })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
  })
})

describe('deploy/kserve', () => {
  const runtime = byKind(kserve, 'ClusterServingRuntime') as unknown as {
    metadata: { name: string }
    spec: { protocolVersions: string[]; supportedModelFormats: { name: string }[]; containers: ContainerSpec[] }
  }
  const isvc = byKind(kserve, 'InferenceService') as unknown as {
    metadata: { name: string }
    spec: { predictor: { model: { runtime: string; modelFormat: { name: string }; protocolVersion: string } } }
  }

  it('the runtime declares V1 and V2, serves ONNX, and its container is a valid Kubernetes container', () => {
    assert.equal(runtime.metadata.name, isvc.spec.predictor.model.runtime)
    assert.deepEqual([...runtime.spec.protocolVersions].sort(), ['v1', 'v2'])
    assert.ok(runtime.spec.supportedModelFormats.some((f) => f.name === isvc.spec.predictor.model.modelFormat.name))
    assert.ok(runtime.spec.protocolVersions.includes(isvc.spec.predictor.model.protocolVersion))
    for (const container of runtime.spec.containers)
      assert.doesNotThrow(() => new Container(container as never).validate())
  })

  it('carafe serve accepts the runtime’s args and answers its probes and the V1 and V2 URLs KServe routes to', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'carafe-kserve-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const container = runtime.spec.containers[0]!
    const models = join(dir, 'mnt-models')
    cpSync(example('iris'), models, { recursive: true })
    const args = container.args
      .slice(1)
      .map((a) => (a === '/mnt/models' ? models : a.startsWith('/tmp/') ? join(dir, 'data') : a))
    const port = args.indexOf('--port')
    assert.equal(Number(args[port + 1]), container.ports[0]!.containerPort)
    args[port + 1] = '0' // the test's own free port; the manifest's is checked just above
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))
    const server = await spawnServe(args, t, { env })
    assert.equal((await get(`${server.url}${container.readinessProbe.httpGet.path}`)).status, 200)
    assert.equal((await get(`${server.url}${container.livenessProbe.httpGet.path}`)).status, 200)
    const name = isvc.metadata.name
    const v1 = await post(`${server.url}/v1/models/${name}:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] })
    assert.equal(v1.status, 200)
    const v2 = await post(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
    })
    assert.equal(v2.status, 200, JSON.stringify(v2.body))
  })

  it('a flag carafe serve does not know is refused, so the args check above can fail', async () => {
    const result = await runCli(['serve', example('iris'), '--no-such-flag', '--print-config'])
    assert.notEqual(result.code, 0)
  })
})

type PodSpec = {
  terminationGracePeriodSeconds: number
  securityContext: { runAsNonRoot: boolean }
  // biome-ignore lint/suspicious/noExplicitAny: read field by field from the manifest
  containers: (ContainerSpec & Record<string, any>)[]
}

function serverConfig(): { port: number; dataDir: string; drainDelayMs: number; shutdownTimeoutMs: number } {
  const configMap = byKind(kube, 'ConfigMap') as unknown as { data: Record<string, string> }
  return parse(configMap.data['server.yaml']!)
}

function secretFile(): string {
  const secret = byKind(kube, 'Secret') as unknown as { stringData: Record<string, string> }
  return secret.stringData['keys.yaml']!
}

/** The container as the Deployment runs it, with its mounts laid out in a temporary folder. */
async function serveAsDeployed(t: Parameters<typeof spawnServe>[1], container: ContainerSpec) {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-k8s-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const configMap = byKind(kube, 'ConfigMap') as unknown as { data: Record<string, string> }
  const mounts: Record<string, string> = {
    '/models/iris': join(dir, 'models', 'iris'),
    '/etc/carafe/server.yaml': join(dir, 'server.yaml'),
  }
  mkdirSync(join(dir, 'models', 'iris', '1'), { recursive: true })
  cpSync(join(example('iris'), '1', 'model.onnx'), join(dir, 'models', 'iris', '1', 'model.onnx'))
  writeFileSync(join(dir, 'models', 'iris', 'carafe.yaml'), configMap.data['carafe.yaml']!)
  writeFileSync(join(dir, 'keys.yaml'), secretFile())
  const server = parse(configMap.data['server.yaml']!) as Record<string, unknown>
  // Where the cluster differs from this machine: the mounts' paths, a free port, no Redis host named carafe-redis.
  server.apiKeysFile = join(dir, 'keys.yaml')
  server.dataDir = join(dir, 'data')
  server.port = 0
  server.jobs = 'embedded'
  writeFileSync(mounts['/etc/carafe/server.yaml']!, JSON.stringify(server))
  const args = container.args.slice(1).map((a) => mounts[a] ?? a)
  return spawnServe(args, t)
}
