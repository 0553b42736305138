import { Command, CommanderError } from 'commander';
import { registerEmulatorCommand } from './emulator-command.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { registerRobotCommand } from './robot-command.js';
import { registerServeCommand } from './serve-command.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('dingpush')
    .description('dingpush — deliver notifications to people on DingTalk (钉钉), durably and inside its quotas')
    .version('0.1.0')
    .exitOverride();
  registerServeCommand(program);
  registerGatewayCommands(program);
  registerRobotCommand(program);
  registerEmulatorCommand(program);
  return program;
}

/** Runs the CLI; every failure is one readable line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`dingpush: ${message.split('\n')[0]}\n`);
    process.exit(err instanceof Error && (err.name === 'UsageError' || err.name === 'ConfigError') ? 2 : 1);
  }
}
