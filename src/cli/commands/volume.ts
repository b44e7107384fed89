// `arca volume add NAME LOCATION` (create a new volume or attach an existing
// one) and `arca volume list`.
import type { Command } from 'commander';
import { ArcaError, isArcaError } from '../../errors.js';
import { validateName } from '../../common/names.js';
import { addVolume, getVolume, listVolumes } from '../../catalog/index.js';
import { initOrAttachVolume } from '../../jobs/volume-service.js';
import type { ContextFactory } from '../context.js';
import { volumesTable } from '../output.js';
import { normalizeVolumeLocation, willCreateVolume } from '../options.js';
import { wrongPassword } from '../volumes.js';

export function registerVolumeCommands(program: Command, contextOf: ContextFactory): void {
  const volume = program.command('volume').description('manage archive volumes');

  volume
    .command('add')
    .description('create a new volume at LOCATION, or attach an existing one')
    .argument('<name>', 'a name for the volume in this catalog')
    .argument('<location>', 'a directory path or file:// URL')
    .action(async (name: string, locationArg: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      validateName('volume', name);
      const location = normalizeVolumeLocation(locationArg, ctx.io.cwd());
      const catalog = ctx.catalog();
      if (getVolume(catalog, name)) throw new ArcaError('ALREADY_EXISTS', `a volume named ${name} already exists`);
      const confirm = ctx.passwords.kind() === 'prompt' && (await willCreateVolume(location));
      const password = await ctx.password(name, { confirm });
      let result: { created: boolean; volumeId: string };
      try {
        result = await initOrAttachVolume(location, password);
      } catch (err) {
        if (isArcaError(err, 'WRONG_PASSWORD')) throw wrongPassword(name, err);
        throw err;
      }
      const record = addVolume(catalog, { name, location, volumeId: result.volumeId });
      ctx.output.result(
        { ...record, created: result.created },
        () => `${result.created ? 'created' : 'attached'} volume ${name} at ${location}`,
      );
    });

  volume
    .command('list')
    .description('list the registered volumes')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const volumes = listVolumes(ctx.catalog());
      ctx.output.result(volumes, () =>
        volumes.length === 0 ? 'no volumes registered; add one with: arca volume add NAME LOCATION' : volumesTable(volumes),
      );
    });
}
