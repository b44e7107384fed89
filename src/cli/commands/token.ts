// `arca token create|list|revoke`: API tokens for the server (Bearer). A new
// token is printed once and only its hash is kept.
import { InvalidArgumentError, type Command } from 'commander';
import { formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { createToken, listTokens, revokeToken, TOKEN_ID_FORMAT } from '../../catalog/tokens.js';
import type { ContextFactory } from '../context.js';
import { renderTable } from '../output.js';

function parseTokenId(value: string): string {
  if (!TOKEN_ID_FORMAT.test(value)) throw new InvalidArgumentError('a token id is 12 hexadecimal digits (see arca token list)');
  return value;
}

export function registerTokenCommands(program: Command, contextOf: ContextFactory): void {
  const token = program.command('token').description('manage API tokens for the server');

  token
    .command('create')
    .description('create an API token for a user; it is printed once, keep it safe')
    .requiredOption('--user <name>', 'the user the token acts as')
    .option('--name <label>', 'a label to recognize it by (e.g. the machine that uses it)')
    .action((opts: { user: string; name?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('user', opts.user);
      const created = createToken(ctx.catalog(), opts.user, opts.name);
      ctx.output.result(created, () => created.token);
      if (!ctx.json) {
        ctx.io.stderr.write(`token ${created.id} for ${created.user}: shown only this once; use it as "Authorization: Bearer <token>"\n`);
      }
    });

  token
    .command('list')
    .description('list API tokens (never the tokens themselves)')
    .option('--user <name>', 'only the tokens of this user')
    .action((opts: { user?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.user !== undefined) validateName('user', opts.user);
      const tokens = listTokens(ctx.catalog(), opts.user);
      ctx.output.result(tokens, () =>
        tokens.length === 0
          ? 'no API tokens; create one with: arca token create --user NAME'
          : renderTable(
              [{ header: 'ID' }, { header: 'USER' }, { header: 'NAME' }, { header: 'CREATED' }, { header: 'LAST USED' }],
              tokens.map((t) => [t.id, t.user, t.name ?? '-', formatTimestamp(t.createdAt), formatTimestamp(t.lastUsedAt, 'never')]),
            ),
      );
    });

  token
    .command('revoke')
    .description('revoke an API token (it stops working at once)')
    .argument('<id>', 'the token id (arca token list)', parseTokenId)
    .action((id: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const revoked = revokeToken(ctx.catalog(), id);
      ctx.output.result(revoked, () => `revoked token ${revoked.id} of ${revoked.user}`);
    });
}
