// Purge rules in the catalog: validated specs, add/list/remove, removal with
// their database, the backupBeforePurge setting (on by default) and the
// purgeBackupExpire setting (never by default; checked like --expire).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addDatabase, catalogPath, openCatalog, removeDatabase, requireDatabase, type Catalog } from '../../../src/catalog/index.js';
import {
  addPurgeRule,
  backupBeforePurgeOf,
  listPurgeRules,
  parsePurgeRuleSpec,
  purgeBackupExpireMsOf,
  purgeBackupExpireOf,
  removePurgeRule,
  setBackupBeforePurge,
  updatePurgeSettings,
  type PurgeRuleSpec,
} from '../../../src/catalog/purge-rules.js';

let dir: string;
let catalog: Catalog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'arca-purge-rules-'));
  catalog = openCatalog(catalogPath(dir), { now: () => new Date('2026-01-01T00:00:00Z') });
  addDatabase(catalog, { name: 'app', url: 'postgres://u@h/app' });
  addDatabase(catalog, { name: 'site', url: 'file:///srv/site' });
});
afterEach(() => {
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

const table: PurgeRuleSpec = { kind: 'table', table: 'events', column: 'at', olderThan: '90d', olderThanMs: 90 * 86_400_000, match: { column: 'level', values: ['debug'] }, where: 'x > 1' };
const files: PurgeRuleSpec = { kind: 'files', glob: 'logs/**/*.log', olderThan: '1w', olderThanMs: 7 * 86_400_000 };

describe('purge rule specs', () => {
  it('accepts table and files rules, refuses malformed ones with USAGE', () => {
    expect(parsePurgeRuleSpec(table)).toEqual(table);
    expect(parsePurgeRuleSpec(files)).toEqual(files);
    for (const bad of [
      { ...table, olderThanMs: 0 },
      { ...table, table: '' },
      { ...table, match: { column: 'level', values: [] } },
      { ...table, extra: 1 },
      { kind: 'files', olderThan: '1d', olderThanMs: 1 },
      { kind: 'other' },
      'nope',
    ]) {
      expect(() => parsePurgeRuleSpec(bad)).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^invalid purge rule/) }));
    }
  });
});

describe('purge rules in the catalog', () => {
  it('adds, lists (per database and all) and removes rules', () => {
    const a = addPurgeRule(catalog, 'app', table);
    const b = addPurgeRule(catalog, 'site', files);
    expect(a).toMatchObject({ database: 'app', spec: table, createdAt: '2026-01-01T00:00:00.000Z' });
    expect(listPurgeRules(catalog, 'app')).toEqual([a]);
    expect(listPurgeRules(catalog)).toEqual([a, b]);
    expect(() => removePurgeRule(catalog, 'site', a.id)).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringMatching(/site has no purge rule/) }));
    removePurgeRule(catalog, 'app', a.id);
    expect(listPurgeRules(catalog, 'app')).toEqual([]);
  });

  it('refuses rules of unknown databases and goes with its database', () => {
    expect(() => addPurgeRule(catalog, 'nope', table)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    addPurgeRule(catalog, 'site', files);
    removeDatabase(catalog, 'site');
    expect(listPurgeRules(catalog)).toEqual([]);
  });

  it('a damaged spec in the catalog is CORRUPT and says how to remove it', () => {
    catalog.db.prepare("INSERT INTO purge_rules (database, spec, created_at) VALUES ('app', '{\"kind\":\"table\"}', 'x')").run();
    expect(() => listPurgeRules(catalog, 'app')).toThrow(expect.objectContaining({ code: 'CORRUPT', message: expect.stringMatching(/arca purge rule remove app 1/) }));
  });

  it('backupBeforePurge is on by default and can be turned off and on', () => {
    expect(backupBeforePurgeOf(requireDatabase(catalog, 'app'))).toBe(true);
    expect(backupBeforePurgeOf(setBackupBeforePurge(catalog, 'app', false))).toBe(false);
    expect(requireDatabase(catalog, 'app').settings).toEqual({ backupBeforePurge: false });
    expect(backupBeforePurgeOf(setBackupBeforePurge(catalog, 'app', true))).toBe(true);
  });

  it('purgeBackupExpire is never by default, takes what --expire takes, and refuses anything else unchanged', () => {
    const app = requireDatabase(catalog, 'app');
    expect(purgeBackupExpireOf(app)).toBe('never');
    expect(purgeBackupExpireMsOf(app)).toBeNull();

    const set = updatePurgeSettings(catalog, 'app', { purgeBackupExpire: ' 3d1w ' });
    expect(purgeBackupExpireOf(set)).toBe('1w 3d');
    expect(purgeBackupExpireMsOf(set)).toBe(10 * 86_400_000);
    expect(requireDatabase(catalog, 'app').settings).toEqual({ purgeBackupExpire: '1w 3d' });

    for (const bad of ['2x', '', '-1d', '0m', '1.5d', 'forever']) {
      expect(() => updatePurgeSettings(catalog, 'app', { purgeBackupExpire: bad, backupBeforePurge: false }), bad).toThrow(
        expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^invalid duration/) }),
      );
    }
    expect(requireDatabase(catalog, 'app').settings).toEqual({ purgeBackupExpire: '1w 3d' });

    const both = updatePurgeSettings(catalog, 'app', { purgeBackupExpire: 'NEVER', backupBeforePurge: false });
    expect(both.settings).toEqual({ purgeBackupExpire: 'never', backupBeforePurge: false });
    expect(purgeBackupExpireMsOf(both)).toBeNull();
    expect(() => updatePurgeSettings(catalog, 'nope', { purgeBackupExpire: '2w' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('a damaged purgeBackupExpire in the catalog is CORRUPT and says how to set it again', () => {
    for (const value of ['2x', 14]) {
      catalog.db.prepare("UPDATE databases SET settings = json_object('purgeBackupExpire', json(?)) WHERE name = 'app'").run(JSON.stringify(value));
      expect(() => purgeBackupExpireMsOf(requireDatabase(catalog, 'app'))).toThrow(
        expect.objectContaining({ code: 'CORRUPT', message: expect.stringMatching(/arca purge settings app --backup-expire 2w/) }),
      );
    }
  });
});
