import { renderJson, renderText } from '../doctor/checklist.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { configPathOf } from './config-command.js';
import { type Lang, langOf } from './lang.js';

/** `dingpush doctor`: the checklist on stdout; exit 0 all pass, 1 a check failed, 2 the configuration does not parse. */
export async function doctor(f: { config?: string; sendTest?: string; json?: boolean; lang?: string }): Promise<void> {
  const lang: Lang = langOf(f.lang, process.env);
  const path = configPathOf(f.config);
  const { checks, exitCode } = await runDoctor(path, f.sendTest !== undefined ? { sendTest: f.sendTest } : {});
  process.stdout.write(f.json ? `${JSON.stringify(renderJson(checks, lang, exitCode), null, 2)}\n` : renderText(checks, lang));
  process.exitCode = exitCode;
}
