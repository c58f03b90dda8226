import { writeOnnx } from '../../examples/onnx-writer.js'

/** A 4x4 RGB image's mean colour, ×10, softmax: which of red, green, blue dominates (a no-code image model). */
export const colourClassifierOnnx = (): Uint8Array =>
  writeOnnx({
    name: 'colours',
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['mean'] },
      { op: 'Flatten', inputs: ['mean'], outputs: ['flat'], attributes: { axis: 1 } },
      { op: 'MatMul', inputs: ['flat', 'gain'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['scores'], attributes: { axis: 1 } },
    ],
    initializers: [{ name: 'gain', dims: [3, 3], values: [10, 0, 0, 0, 10, 0, 0, 0, 10] }],
    inputs: [{ name: 'pixels', featureDims: [3, 4, 4] }],
    outputs: [{ name: 'scores', featureDims: [3] }],
  })
