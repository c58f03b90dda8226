/** A model that cannot be loaded: the message names the file, and `carafe serve` exits 2 with it. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError'
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`)
  }
}
