// The volumes endpoints: list, and create or attach one (admin) with the
// server's volume password (the same source as the CLI: ARCA_PASSWORD or
// --password-file).
import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ArcaError, isArcaError } from '../../errors.js';
import { addVolume, getVolume, listVolumes } from '../../catalog/volumes.js';
import { initOrAttachVolume } from '../../jobs/index.js';
import { registerRoute, route } from '../route.js';
import { NewVolumeBody, NewVolumeSchema, VolumeSchema } from '../schemas.js';
import type { ServerContext } from '../server-context.js';

const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** A location as the catalog stores it; over the API a path must be absolute. */
export function apiVolumeLocation(input: string): string {
  const text = input.trim();
  if (URL_WITH_SCHEME.test(text)) return text;
  if (!isAbsolute(text)) throw new ArcaError('USAGE', 'a volume location must be an absolute path or a URL over the API');
  return resolve(text);
}

export function registerVolumeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { catalog } = ctx;
  const tags = ['volumes'];

  registerRoute(app, route({
    method: 'GET',
    url: '/api/v1/volumes',
    action: 'read',
    summary: 'the registered volumes',
    tags,
    response: VolumeSchema.array(),
    handle: () => listVolumes(catalog),
  }));

  registerRoute(app, route({
    method: 'POST',
    url: '/api/v1/volumes',
    action: 'volumes.change',
    summary: 'create a volume at an empty location, or attach an existing one',
    description: "Uses the server's volume password (ARCA_PASSWORD or --password-file when the server started).",
    tags,
    body: NewVolumeBody,
    status: 201,
    response: NewVolumeSchema,
    errors: [409, 503],
    handle: async ({ body }) => {
      const location = apiVolumeLocation(body.location);
      if (getVolume(catalog, body.name)) throw new ArcaError('ALREADY_EXISTS', `a volume named ${body.name} already exists`);
      const password = await ctx.volumes.password(body.name);
      let result: { created: boolean; volumeId: string };
      try {
        result = await initOrAttachVolume(location, password);
      } catch (err) {
        if (isArcaError(err, 'WRONG_PASSWORD')) {
          throw new ArcaError('WRONG_PASSWORD', `the server's volume password does not open the volume at ${location}`, { cause: err });
        }
        throw err;
      }
      const record = addVolume(catalog, { name: body.name, location, volumeId: result.volumeId });
      return { ...record, created: result.created };
    },
  }));
}
