/**
 * The Airflow DAG file of the pipeline (`airflow/dags/fvc_pipeline_dag.py`), as
 * the seed describes it: dag_id fvc_pipeline, no schedule, tags fvc /
 * video-classification / ml, one retry after 5 minutes, e-mail on failure when an
 * address is given, one BashOperator per stage calling the `fvc` CLI, and the
 * runner's dependencies.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { activeStages, DEPENDENCIES, DESCRIPTIONS, stageArgs, type PipelineConfig } from './dag.js';

export interface AirflowOptions extends PipelineConfig {
  /** Output file (default airflow/dags/fvc_pipeline_dag.py). */
  out?: string;
  /** How the DAG's tasks call fvc (default `npx fvc`, run from the project folder). */
  fvcCommand?: string;
  /** Working folder of the tasks (default the current one). */
  projectDir?: string;
  email?: readonly string[];
}

/** A Python string literal. */
const py = (s: string) => JSON.stringify(s);
const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
/**
 * BashOperator renders bash_command with Jinja, so a path holding `{{`, `{%` or `{#`
 * would be run as a template: each such `{` becomes an expression printing it. A
 * command ending in .sh / .bash would be read as a template file: a trailing space
 * stops that (Airflow's documented escape).
 */
export const jinjaLiteral = (s: string) => s.replace(/\{(?=[{%#])/g, "{{ '{' }}").replace(/\.(sh|bash)$/, '.$1 ');

export function renderAirflowDag(o: AirflowOptions): string {
  const fvc = o.fvcCommand ?? 'npx fvc';
  const project = resolve(o.projectDir ?? '.');
  const email = o.email ?? [];
  const stages = activeStages(o);
  const tasks = stages.map((s) => {
    const cmd = `cd ${shellQuote(project)} && ${fvc} ${stageArgs(s, o).map(shellQuote).join(' ')}`;
    return `    ${s} = BashOperator(\n        task_id=${py(s)},\n        bash_command=${py(jinjaLiteral(cmd))},\n        doc_md=${py(DESCRIPTIONS[s])},\n    )`;
  });
  const edges = stages.flatMap((s) => DEPENDENCIES[s].filter((d) => stages.includes(d)).map((d) => `    ${d} >> ${s}`));
  return `"""fvc pipeline: stage1 -> stage2, stage1 -> stage3 -> stage4${stages.includes('extract') ? ', stage3 -> extract' : ''}, (${stages.filter((s) => DEPENDENCIES.stage5.includes(s)).join(', ')}) -> stage5.

Written by \`fvc airflow render\`; each task calls the fvc CLI, which skips work
already done, so a retry or a re-run continues where it stopped.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

default_args = {
    "owner": "fvc",
    "depends_on_past": False,
    "email": ${JSON.stringify(email)},
    "email_on_failure": ${email.length ? 'True' : 'False'},
    "email_on_retry": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="fvc_pipeline",
    default_args=default_args,
    description="fvc: augmentation, features, scaling, training",
    schedule_interval=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["fvc", "video-classification", "ml"],
) as dag:
${tasks.join('\n\n')}

${edges.join('\n')}
`;
}

export async function writeAirflowDag(o: AirflowOptions): Promise<string> {
  const out = resolve(o.out ?? join('airflow', 'dags', 'fvc_pipeline_dag.py'));
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, renderAirflowDag(o));
  return out;
}
