// Where each kind of object lives on the backend (format §1).

export const CONFIG_KEY = 'config';
export const KEYS_PREFIX = 'keys/';
export const DATA_PREFIX = 'data/';
export const INDEX_PREFIX = 'index/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
export const SESSIONS_PREFIX = 'sessions/';
export const NOTES_PREFIX = 'notes/';
export const TOMBSTONES_PREFIX = 'tombstones/';

export const packKey = (packIdHex: string): string => `${DATA_PREFIX}${packIdHex.slice(0, 2)}/${packIdHex}`;
export const indexKey = (hashHex: string): string => `${INDEX_PREFIX}${hashHex}`;
export const snapshotKey = (backupId: string): string => `${SNAPSHOTS_PREFIX}${backupId}`;
export const sessionKey = (sessionId: string): string => `${SESSIONS_PREFIX}${sessionId}`;
export const notesPrefixOf = (backupId: string): string => `${NOTES_PREFIX}${backupId}/`;
export const tombstoneKey = (id: string): string => `${TOMBSTONES_PREFIX}${id}`;
export const keyObjectKey = (keyId: string): string => `${KEYS_PREFIX}${keyId}`;

/** The last path segment of a key (an id for content-named objects). */
export const baseName = (key: string): string => key.slice(key.lastIndexOf('/') + 1);
