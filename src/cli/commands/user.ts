// `arca user add|list|remove|passwd`: the people who may use the server, with
// their roles (viewer, operator, admin). Passwords come from a terminal
// prompt (typed twice) or from stdin with --password-stdin; never from argv.
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError } from '../../errors.js';
import { formatTimestamp } from '../../common/format.js';
import { validateName } from '../../common/names.js';
import { addUser, isUserRole, listUsers, removeUser, requireUser, setUserPassword, USER_ROLES, type UserRole } from '../../catalog/users.js';
import { listTokens } from '../../catalog/tokens.js';
import type { CliContext, ContextFactory } from '../context.js';
import { renderTable } from '../output.js';
import { passwordFromFileContent, PromptInterrupted, promptHidden, readAll } from '../password.js';

function parseRole(value: string): UserRole {
  if (!isUserRole(value)) throw new InvalidArgumentError(`the role must be one of ${USER_ROLES.join(', ')}`);
  return value;
}


/** A user's new password: all of stdin (without its final line ending), or typed twice on a terminal. */
async function newPassword(ctx: CliContext, user: string, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = passwordFromFileContent(await readAll(ctx.io.stdin));
    if (password === '') throw new ArcaError('USAGE', 'no password on stdin');
    return password;
  }
  if (!ctx.io.stdin.isTTY) {
    throw new ArcaError('USAGE', 'no terminal to ask for the password: pipe it in with --password-stdin');
  }
  try {
    const password = await promptHidden(`new password for user ${user}: `, ctx.io.stdin, ctx.io.stderr);
    const again = await promptHidden(`repeat the password for user ${user}: `, ctx.io.stdin, ctx.io.stderr);
    if (again !== password) throw new ArcaError('USAGE', 'the passwords do not match');
    return password;
  } catch (err) {
    if (err instanceof PromptInterrupted) ctx.interruptedBy = 'SIGINT';
    throw err;
  }
}

export function registerUserCommands(program: Command, contextOf: ContextFactory): void {
  const user = program.command('user').description('manage the users of the server (roles: viewer, operator, admin)');

  user
    .command('add')
    .description('add a user; the password is asked twice on a terminal, or read with --password-stdin')
    .argument('<name>', 'the user name')
    .requiredOption('--role <role>', `${USER_ROLES.join(', ')}: a viewer reads; an operator also runs backups, restores, prune and check; an admin also changes settings and users`, parseRole)
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, opts: { role: UserRole; passwordStdin?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('user', name);
      const catalog = ctx.catalog();
      if (listUsers(catalog).some((u) => u.name === name)) throw new ArcaError('ALREADY_EXISTS', `a user named ${name} already exists`);
      const password = await newPassword(ctx, name, opts.passwordStdin === true);
      const record = await addUser(catalog, { name, role: opts.role, password });
      ctx.output.result(record, () => `added user ${record.name} (${record.role})`);
    });

  user
    .command('list')
    .description('list the users')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const catalog = ctx.catalog();
      const users = listUsers(catalog).map((u) => ({ ...u, tokens: listTokens(catalog, u.name).length }));
      ctx.output.result(users, () =>
        users.length === 0
          ? 'no users; add one with: arca user add NAME --role admin'
          : renderTable(
              [{ header: 'NAME' }, { header: 'ROLE' }, { header: 'TOKENS', align: 'right' }, { header: 'ADDED' }],
              users.map((u) => [u.name, u.role, String(u.tokens), formatTimestamp(u.createdAt)]),
            ),
      );
    });

  user
    .command('remove')
    .description('remove a user and their API tokens')
    .argument('<name>', 'the user name')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('user', name);
      removeUser(ctx.catalog(), name);
      ctx.output.result({ name, removed: true }, () => `removed user ${name}`);
    });

  user
    .command('passwd')
    .description("change a user's password (asked twice on a terminal, or read with --password-stdin)")
    .argument('<name>', 'the user name')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('user', name);
      requireUser(ctx.catalog(), name);
      const password = await newPassword(ctx, name, opts.passwordStdin === true);
      await setUserPassword(ctx.catalog(), name, password);
      ctx.output.result({ name, changed: true }, () => `changed the password of user ${name}`);
    });
}
