/** `fvc models` (every Stage 5 model and the native deep architectures) and `fvc logits` (check a weight port). */
import { weightsFileOf } from '../../weights/cache.js';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { describeDeepModels, modelLogits } from '../../deep/architectures.js';
import { FvcError } from '../../errors.js';
import { ALL_MODELS, isBuilt, stage5IdOf } from '../../train/registry.js';
import { formatTable, printJson } from '../output.js';
import { intOption, numberOption } from '../parse.js';

interface ScaleFlags {
  numClasses: number;
  width?: number;
  depth?: number;
  threads: number;
}

function scaleOptions(cmd: Command): Command {
  return cmd
    .option('--num-classes <k>', 'classes of the head', intOption(1, 100000), 2)
    .option('--width <w>', 'channel multiplier (small variants for tests and CPU demos)', numberOption(0.001, 16))
    .option('--depth <n>', 'blocks per stage, at most (0: the published depth)', intOption(0, 1000))
    .option('--threads <n>', 'LibTorch threads', intOption(1, 1024), availableParallelism());
}

const scaleOf = (o: ScaleFlags) => ({ ...(o.width !== undefined ? { width: o.width } : {}), ...(o.depth !== undefined ? { depth: o.depth } : {}) });

export function registerModels(program: Command): void {
  scaleOptions(
    program.command('models').description('every Stage 5 model with its family and inputs; the native deep architectures with input shape and parameter count').option('--json', 'print JSON'),
  ).action(async (o: ScaleFlags & { json?: boolean }) => {
    const deep = (await describeDeepModels({ numClasses: o.numClasses, scale: scaleOf(o), threads: o.threads })).map((d) => ({ ...d, stage5Id: stage5IdOf(d.name) }));
    const byId = new Map<string, string[]>();
    for (const d of deep) if (d.stage5Id) byId.set(d.stage5Id, [...(byId.get(d.stage5Id) ?? []), d.name]);
    const stage5 = ALL_MODELS.map((m) => ({
      id: m.id,
      name: m.name,
      family: m.family,
      inputs: m.inputs,
      trainable: isBuilt(m),
      architectures: byId.get(m.id) ?? [],
      ...(m.backbone ? { backbone: m.backbone } : {}),
    }));
    if (o.json) return printJson({ numClasses: o.numClasses, scale: scaleOf(o), architectures: deep, stage5 });
    process.stdout.write(
      formatTable(
        deep.map((d) => [
          d.name,
          d.stage5Id ?? '-',
          d.family,
          `[${d.inputShape.join(', ')}]`,
          d.preset.frameSize,
          `${d.preset.mean.map((v) => v.toFixed(3)).join('/')} / ${d.preset.std.map((v) => v.toFixed(3)).join('/')}`,
          d.embeddingDim || '-',
          d.parameters.toLocaleString('en-US'),
          d.description,
        ]),
        ['architecture', 'stage5', 'family', 'input [C, T, H, W]', 'frame size', 'mean / std', 'features', `parameters (${o.numClasses} classes)`, 'what'],
      ),
    );
    process.stdout.write('\n');
    process.stdout.write(
      formatTable(
        stage5.map((m) => [m.id, m.name, m.family, m.inputs.join(' + '), m.trainable ? 'yes' : 'not yet', m.architectures.join(', ') || (m.backbone ? `features of ${m.backbone}` : '-')]),
        ['id', 'model', 'family', 'inputs', 'fvc train', 'native architectures'],
      ),
    );
  });

  scaleOptions(
    program
      .command('logits')
      .description("a model's eval-mode logits for one clip given exactly as its input tensor, to check a weight port")
      .requiredOption('--model <name>', 'architecture (fvc models lists them)')
      .requiredOption('--input <clip.npy>', 'float32 .npy [C, T, H, W] (or [B, C, T, H, W]), no further preprocessing')
      .option(
        '--weights <file|name>',
        'state dict with torchvision / PyTorchVideo names: .safetensors, or .pth / .pt / .pyth, or published weights by name (fvc weights list; default: seeded initialisation)',
      )
      .option('--seed <n>', 'seed of the initialisation', intOption(0), 0)
      .option('--embedding', "print the model's feature-extraction row per clip instead of its logits")
      .option('--gradients <file.safetensors>', "also write every parameter's gradient of the mean cross-entropy (eval mode) against --labels")
      .option('--labels <list>', 'comma-separated class index per clip, for --gradients')
      .option('--json', 'print JSON'),
  ).action(async (o: ScaleFlags & { model: string; input: string; weights?: string; seed: number; embedding?: boolean; gradients?: string; labels?: string; json?: boolean }) => {
    if (Boolean(o.gradients) !== Boolean(o.labels)) throw new FvcError('ERR_INVALID_ARGUMENT', '--gradients and --labels go together');
    const labels = o.labels?.split(',').map((v, i) => {
      if (!/^\d+$/.test(v.trim())) throw new FvcError('ERR_INVALID_ARGUMENT', `--labels: item ${i + 1} '${v}' is not a class index`);
      return Number(v);
    });
    const r = await modelLogits({
      model: o.model,
      input: o.input,
      ...(o.weights ? { weights: await weightsFileOf(o.weights, o.model) } : {}),
      numClasses: o.numClasses,
      scale: scaleOf(o),
      seed: o.seed,
      threads: o.threads,
      ...(o.embedding ? { output: 'embedding' as const } : {}),
      ...(o.gradients && labels ? { gradients: { labels, out: o.gradients } } : {}),
    });
    if (r.headReplaced.length) process.stderr.write(`logits: head ${r.headReplaced.join(', ')} left as built: the file has another class count or lacks these layers\n`);
    if (o.json) return printJson({ model: o.model, shape: r.shape, logits: r.rows, loaded: r.loaded, headReplaced: r.headReplaced });
    for (const row of r.rows) process.stdout.write(`${row.map((v) => v.toPrecision(8)).join(' ')}\n`);
  });
}
