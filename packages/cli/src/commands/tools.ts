import type { Command } from 'commander';

export function registerTools(program: Command): void {
  const tools = program.command('tools').description('Tools utility commands');
  tools.command('bucket').description('Bucket utility commands');
}
