import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'
import type { Logger, ModelDescriptor } from '../model/index.js'
import { ServedModel } from './served-model.js'

/** The served models by name; what http and jobs see of the runtime. */
export class ModelRegistry {
  readonly #models = new Map<string, ServedModel>()
  readonly #started = new Map<string, Promise<void>>()

  constructor(descriptors: ModelDescriptor[], config: Readonly<Config>, log: Logger) {
    for (const descriptor of descriptors) {
      if (this.#models.has(descriptor.name))
        throw new Error(`two models are named "${descriptor.name}"; names must be unique`)
      this.#models.set(
        descriptor.name,
        new ServedModel(descriptor, config, log, undefined, (name, instances, options) =>
          this.#call(name, instances, options),
        ),
      )
    }
  }

  get size(): number {
    return this.#models.size
  }

  list(): ServedModel[] {
    return [...this.#models.values()]
  }

  get(name: string): ServedModel {
    const model = this.#models.get(name)
    if (!model)
      throw new CarafeError('MODEL_NOT_FOUND', `No model named "${name}" is served`, [
        { model: name, available: [...this.#models.keys()] },
      ])
    return model
  }

  has(name: string): boolean {
    return this.#models.has(name)
  }

  /** Load every model concurrently; rejects with the first failure. */
  async start(): Promise<void> {
    await Promise.all(
      this.list().map((m) => {
        const started = m.start()
        this.#started.set(
          m.name,
          started.catch(() => undefined),
        )
        return started
      }),
    )
  }

  /** A handler's ctx.models call; one made during warm-up waits for the called model to finish starting. */
  async #call(name: string, instances: unknown[], options: { timeoutMs?: number }): Promise<unknown[]> {
    const model = this.get(name)
    await this.#started.get(name)
    return model.predict(instances, options)
  }

  /** At shutdown: models that are down refuse what waits for them (see ServedModel.giveUpIfDown). */
  giveUpOnDownModels(): void {
    for (const m of this.list()) m.giveUpIfDown()
  }

  /** Answer what is queued and stop the runners; `force`: refuse what is queued (see ServedModel.close). */
  async close(options: { force?: boolean } = {}): Promise<void> {
    await Promise.all(this.list().map((m) => m.close(options)))
  }
}
