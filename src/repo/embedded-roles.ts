import postgres from 'postgres';
import type { Logger } from 'pino';
import { LEGACY_PASSWORD, type Secrets } from './embedded-secrets.js';

/**
 * The embedded cluster's roles, made right at every start (idempotent): the
 * superuser has the password of the secrets file, the application connects as
 * APP_ROLE (no superuser) which owns its database and every object in it. A data
 * directory made with the old fixed password is upgraded here in place.
 */

export const SUPERUSER = 'postgres';
export const APP_ROLE = 'chat_app';

const connect = (port: number, password: string, database: string): postgres.Sql =>
  postgres({ host: '127.0.0.1', port, user: SUPERUSER, password, database, max: 1, connect_timeout: 10, onnotice: () => {} });

const isBadPassword = (error: unknown): boolean => typeof error === 'object' && error !== null && 'code' in error && error.code === '28P01';

/** Connects as the superuser; a cluster still on the legacy password gets the new one first. */
async function superuser(port: number, secrets: Secrets, log: Logger): Promise<postgres.Sql> {
  const admin = connect(port, secrets.superuser, 'postgres');
  try {
    await admin`SELECT 1`;
    return admin;
  } catch (error) {
    await admin.end();
    if (!isBadPassword(error)) throw error;
  }
  const legacy = connect(port, LEGACY_PASSWORD, 'postgres');
  try {
    await legacy.unsafe(`ALTER ROLE ${SUPERUSER} PASSWORD '${secrets.superuser}'`);
  } catch (error) {
    await legacy.end();
    throw error;
  }
  log.warn({ role: SUPERUSER }, 'upgraded a data directory made with the fixed superuser password: it now has the random one of pg.secrets.json');
  return legacy;
}

/** Tables, views, sequences not owned by a column, and functions of the public schema. */
const TRANSFER = `
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> '${APP_ROLE}'::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${APP_ROLE}',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.proowner <> '${APP_ROLE}'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', r.name);
  END LOOP;
END $$`;

export async function provision(port: number, database: string, secrets: Secrets, log: Logger): Promise<void> {
  const admin = await superuser(port, secrets, log);
  try {
    const role = await admin`SELECT 1 FROM pg_roles WHERE rolname = ${APP_ROLE}`;
    const verb = role.length === 0 ? 'CREATE' : 'ALTER';
    await admin.unsafe(`${verb} ROLE ${APP_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${secrets.app}'`);
    const found = await admin`SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${database}`;
    if (found.length === 0) await admin`CREATE DATABASE ${admin(database)} OWNER ${admin(APP_ROLE)}`;
    else if (found[0]?.['owner'] !== APP_ROLE) await admin`ALTER DATABASE ${admin(database)} OWNER TO ${admin(APP_ROLE)}`;
  } finally {
    await admin.end();
  }
  const inDatabase = connect(port, secrets.superuser, database);
  try {
    await inDatabase.unsafe(TRANSFER);
  } finally {
    await inDatabase.end();
  }
}
