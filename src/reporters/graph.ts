import { analyzeWorkflowDependencies, type DagAnalysis, type UnknownDependency } from '../core/dag.js';
import { RUN_STATUSES, type RunStatus } from '../core/status.js';

/** What the graph renderer needs of a step. */
export interface GraphStep {
  id: string;
  needs: readonly string[];
  /** The step's kind (`script`, `command`, `function`, `workflow`, ...): picks the node shape. */
  kind?: string;
  /** Weight for the critical path in the JSON format. */
  durationMs?: number;
}

export type GraphFormat = 'mermaid' | 'dot' | 'json';

export const GRAPH_FORMATS: readonly GraphFormat[] = ['mermaid', 'dot', 'json'];

export interface GraphOptions {
  /**
   * Status per step id (`succeeded`, `failed`, ...). Nodes with one of the `RunStatus` tokens are
   * coloured; other values are ignored (kept as data in the JSON format).
   * @default {}
   */
  statuses?: Record<string, string>;
}

/** The JSON format: the analysis plus the edges and one entry per step. */
export interface GraphJson {
  valid: boolean;
  order: string[];
  levels: string[][];
  criticalPath: string[];
  cycles: string[][];
  unknown: UnknownDependency[];
  /** `from` must finish before `to` starts (only between steps that exist). */
  edges: { from: string; to: string }[];
  /** One per distinct id, in input order; `level` is `null` for steps on or after a cycle. */
  steps: { id: string; needs: string[]; level: number | null; kind?: string; status?: string }[];
}

interface Style {
  fill: string;
  stroke: string;
  color: string;
  dashed?: boolean;
}

const STATUS_STYLES: Record<RunStatus, Style> = {
  pending: { fill: '#f8fafc', stroke: '#94a3b8', color: '#334155' },
  running: { fill: '#dbeafe', stroke: '#2563eb', color: '#1e3a8a' },
  succeeded: { fill: '#dcfce7', stroke: '#16a34a', color: '#14532d' },
  failed: { fill: '#fee2e2', stroke: '#dc2626', color: '#7f1d1d' },
  'timed-out': { fill: '#ffedd5', stroke: '#ea580c', color: '#7c2d12' },
  cancelled: { fill: '#f3f4f6', stroke: '#6b7280', color: '#4b5563', dashed: true },
  skipped: { fill: '#f3f4f6', stroke: '#9ca3af', color: '#4b5563' },
  cached: { fill: '#ecfccb', stroke: '#65a30d', color: '#365314' },
};

/** A dependency that names no step is still drawn, dashed and labelled as missing. */
const MISSING_STYLE: Style = { fill: '#ffffff', stroke: '#dc2626', color: '#7f1d1d', dashed: true };

/**
 * Renders the dependency graph of `steps` as a Mermaid flowchart, a Graphviz DOT digraph, or JSON
 * (with the order, parallel levels and critical path from `analyzeWorkflowDependencies`). Edges
 * point from a dependency to the step that needs it. The text ends with a newline.
 *
 * @see docs/graph.md
 */
export function renderGraph(steps: readonly GraphStep[], format: GraphFormat, options: GraphOptions = {}): string {
  const statuses = options.statuses ?? {};
  const model = buildModel(steps);
  switch (format) {
    case 'mermaid':
      return renderMermaid(model, statuses);
    case 'dot':
      return renderDot(model, statuses);
    case 'json':
      return renderJson(steps, model, statuses);
    default:
      throw new TypeError(
        `Expected the \`format\` option to be one of ${GRAPH_FORMATS.map((f) => `\`${f}\``).join(', ')}, got \`${String(format)}\` (${typeof format})`,
      );
  }
}

interface Model {
  /** Distinct steps in input order (first definition wins). */
  steps: GraphStep[];
  /** Needs that name no step, in order of first mention. */
  missing: string[];
  /** Distinct (need, step) pairs in input order, missing needs included. */
  edges: { from: string; to: string }[];
}

function buildModel(input: readonly GraphStep[]): Model {
  const steps: GraphStep[] = [];
  const known = new Set<string>();
  for (const step of input) {
    if (known.has(step.id)) continue;
    known.add(step.id);
    steps.push(step);
  }
  const missing = new Set<string>();
  const edges: { from: string; to: string }[] = [];
  for (const step of steps) {
    for (const need of new Set(step.needs)) {
      if (!known.has(need)) missing.add(need);
      edges.push({ from: need, to: step.id });
    }
  }
  return { steps, missing: [...missing], edges };
}

function isRunStatus(value: string | undefined): value is RunStatus {
  return value !== undefined && (RUN_STATUSES as readonly string[]).includes(value);
}

/** Mermaid class names: the status token with `-` as `_` (`timed-out` → `timed_out`). */
function statusClass(status: RunStatus): string {
  return status.replace(/-/g, '_');
}

// --- Mermaid -------------------------------------------------------------------------------------

/**
 * Escapes a label for a quoted Mermaid string. Mermaid decodes `#name;` and `#123;` entities in
 * labels, so `#` itself must be escaped first; `<`, `>` and `&` are escaped because labels are
 * rendered as HTML; a backtick would turn the label into Markdown.
 */
export function escapeMermaidLabel(text: string): string {
  return text
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/&/g, '#amp;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, '#96;')
    // eslint-disable-next-line no-control-regex -- a line break or control character would end the statement
    .replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/**
 * Whether a step calls a function: a DSL function (kind `function`) or a workflow file's
 * `function:` step (kind `module`). Both are drawn rounded (Mermaid) or as ellipses (DOT).
 */
function isFunctionKind(kind: string | undefined): boolean {
  return kind === 'function' || kind === 'module';
}

function mermaidNode(nodeId: string, label: string, kind: string | undefined): string {
  const text = `"${escapeMermaidLabel(label)}"`;
  if (kind === 'workflow') return `${nodeId}[[${text}]]`;
  if (isFunctionKind(kind)) return `${nodeId}(${text})`;
  return `${nodeId}[${text}]`;
}

function mermaidStyle(style: Style): string {
  const parts = [`fill:${style.fill}`, `stroke:${style.stroke}`, `color:${style.color}`];
  if (style.dashed === true) parts.push('stroke-dasharray:5 5');
  return parts.join(',');
}

function renderMermaid(model: Model, statuses: Record<string, string>): string {
  // Step ids can hold anything, so nodes get safe ids (s0, s1, ...) and the step id is the label.
  const nodeIds = new Map<string, string>();
  for (const id of [...model.steps.map((step) => step.id), ...model.missing]) nodeIds.set(id, `s${nodeIds.size}`);
  const node = (id: string): string => nodeIds.get(id) ?? '';

  const lines = ['flowchart TD'];
  for (const step of model.steps) lines.push(`  ${mermaidNode(node(step.id), step.id, step.kind)}`);
  for (const id of model.missing) lines.push(`  ${mermaidNode(node(id), `${id} (missing)`, undefined)}`);
  for (const edge of model.edges) lines.push(`  ${node(edge.from)} --> ${node(edge.to)}`);

  const classes: string[] = [];
  const used = new Set<RunStatus>();
  for (const step of model.steps) {
    const status = statuses[step.id];
    if (!isRunStatus(status)) continue;
    used.add(status);
    classes.push(`  class ${node(step.id)} ${statusClass(status)}`);
  }
  for (const status of RUN_STATUSES) {
    if (used.has(status)) lines.push(`  classDef ${statusClass(status)} ${mermaidStyle(STATUS_STYLES[status])}`);
  }
  if (model.missing.length > 0) {
    lines.push(`  classDef missing ${mermaidStyle(MISSING_STYLE)}`);
    classes.push(`  class ${model.missing.map(node).join(',')} missing`);
  }
  lines.push(...classes);
  return lines.join('\n') + '\n';
}

// --- DOT -----------------------------------------------------------------------------------------

/** A DOT quoted string: `"` and `\` escaped, line breaks as `\n`. */
export function quoteDot(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, '\\n')
    // eslint-disable-next-line no-control-regex -- other control characters have no use in a label
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${escaped}"`;
}

function dotAttributes(attributes: [string, string][]): string {
  return attributes.length === 0 ? '' : ` [${attributes.map(([key, value]) => `${key}=${quoteDot(value)}`).join(', ')}]`;
}

function dotStyleAttributes(style: Style): [string, string][] {
  return [
    ['style', style.dashed === true ? 'filled,dashed' : 'filled'],
    ['fillcolor', style.fill],
    ['color', style.stroke],
    ['fontcolor', style.color],
  ];
}

function renderDot(model: Model, statuses: Record<string, string>): string {
  const lines = ['digraph workflow {', '  rankdir=LR;', '  node [shape=box];'];
  for (const step of model.steps) {
    const attributes: [string, string][] = [];
    if (step.kind === 'workflow') attributes.push(['shape', 'box3d']);
    else if (isFunctionKind(step.kind)) attributes.push(['shape', 'ellipse']);
    const status = statuses[step.id];
    if (isRunStatus(status)) attributes.push(...dotStyleAttributes(STATUS_STYLES[status]));
    lines.push(`  ${quoteDot(step.id)}${dotAttributes(attributes)};`);
  }
  for (const id of model.missing) {
    lines.push(`  ${quoteDot(id)}${dotAttributes([['label', `${id} (missing)`], ...dotStyleAttributes(MISSING_STYLE)])};`);
  }
  for (const edge of model.edges) lines.push(`  ${quoteDot(edge.from)} -> ${quoteDot(edge.to)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

// --- JSON ----------------------------------------------------------------------------------------

function renderJson(input: readonly GraphStep[], model: Model, statuses: Record<string, string>): string {
  const analysis: DagAnalysis = analyzeWorkflowDependencies(input);
  const levelOf = new Map<string, number>();
  analysis.levels.forEach((ids, level) => {
    for (const id of ids) levelOf.set(id, level);
  });
  const missing = new Set(model.missing);
  const json: GraphJson = {
    valid: analysis.valid,
    order: analysis.order,
    levels: analysis.levels,
    criticalPath: analysis.criticalPath,
    cycles: analysis.cycles,
    unknown: analysis.unknown,
    edges: model.edges.filter((edge) => !missing.has(edge.from)),
    steps: model.steps.map((step) => {
      const entry: GraphJson['steps'][number] = { id: step.id, needs: [...new Set(step.needs)], level: levelOf.get(step.id) ?? null };
      if (step.kind !== undefined) entry.kind = step.kind;
      const status = statuses[step.id];
      if (status !== undefined) entry.status = status;
      return entry;
    }),
  };
  return JSON.stringify(json, null, 2) + '\n';
}
