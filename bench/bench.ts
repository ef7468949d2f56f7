/**
 * npm run bench [-- --quick] [-- --only fanout,capacity,...] [-- --json FILE]
 *
 * The chat server next to a raw uWebSockets.js baseline, same machine, same run,
 * same load-tester client, one server at a time. Scenarios (issues 07, 13):
 * - fanout: 5,000 sockets in one room, 200 messages of ~100 bytes, at 5/s and
 *   as fast as accepted: deliveries/s, latency p50/p99, server CPU per delivery;
 * - capacity: 10,000 and 19,000 idle joined sessions: server RSS per session;
 * - persistence: a 100-member room, every member sending as fast as accepted;
 * - two-nodes: the 5/s fan-out on WORKERS=2, next to the one-node figures;
 * - joins: 6,000 users into rooms of 100 with history on one node, offered
 *   1,100/s, new and then returning: joins/s, join latency, CPU per join;
 * - scale: 100,000 sessions on 6 processes of each server, rooms of 100 with
 *   history: joins/s, RSS, idle CPU, a message every 5 s into every room, a
 *   broadcast to all;
 * - large-room: one room of 5,000 and of 20,000 across two processes: presence
 *   bytes per member, memory;
 * - storm: a node holding 19,000 sessions SIGKILLed and started again.
 * --quick runs a small version of each (a smoke test). Exit 1 when a goal is
 * missed or a run fails. Both servers load the same native uWS build (or refuse to start).
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { joinRows, joins } from './support/joins.js';
import { largeRoom, type LargeRoomFigures } from './support/large-room.js';
import { scale, type ScaleFigures } from './support/scale.js';
import { storm, stormRows } from './support/storm.js';
import { capacity, fanout, persistence, progress, type CapacityFigures, type FanoutFigures, type PersistenceFigures } from './support/scenarios.js';
import { startChatServer, startRawServer, type BenchServer } from './support/servers.js';
import { markdownTable, type Row } from './support/table.js';

const SCENARIOS = ['fanout', 'capacity', 'persistence', 'two-nodes', 'joins', 'scale', 'large-room', 'storm'] as const;
type Scenario = (typeof SCENARIOS)[number];
const valueOf = (flag: string): string | undefined => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const args = z
  .object({
    quick: z.boolean(),
    json: z.string().optional(),
    only: z
      .string()
      .optional()
      .transform((list) => (list === undefined ? [...SCENARIOS] : list.split(',')))
      .pipe(z.array(z.enum(SCENARIOS))),
  })
  .safeParse({ quick: process.argv.includes('--quick'), json: valueOf('--json'), only: valueOf('--only') });
const valued = new Set(['--json', '--only']);
const unknown = process.argv.slice(2).filter((arg, i, all) => arg !== '--quick' && !valued.has(arg) && !valued.has(all[i - 1] ?? ''));
if (!args.success || unknown.length > 0) {
  process.stderr.write(
    `usage: npm run bench [-- --quick] [-- --only ${SCENARIOS.join(',')}] [-- --json FILE]${unknown.length > 0 ? ` (unknown: ${unknown.join(' ')})` : ''}\n`,
  );
  process.exit(2);
}
const { quick } = args.data;
const only = new Set<Scenario>(args.data.only);

const size = quick
  ? { fanoutSockets: 500, fanoutMessages: 40, capacity: [1_000, 2_000], capacityIdleMs: 10_000, members: 20, persistSeconds: 3, joins: { sockets: 1_000, ramp: 1_100 }, scale: { sockets: 2_000, workers: 2, ramp: 1_100, seconds: 5 }, largeRoom: [600, 1_500], storm: 2_000 }
  : { fanoutSockets: 5_000, fanoutMessages: 200, capacity: [10_000, 19_000], capacityIdleMs: 90_000, members: 100, persistSeconds: 10, joins: { sockets: 6_000, ramp: 1_100 }, scale: { sockets: 100_000, workers: 6, ramp: 1_100, seconds: 30 }, largeRoom: [5_000, 20_000], storm: 19_000 };

interface Figures {
  paced: FanoutFigures | undefined;
  fast: FanoutFigures | undefined;
  capacity: Array<CapacityFigures | undefined>;
  persistence: PersistenceFigures | undefined;
}

/** Scenarios that failed (a run with lost messages, sockets that never joined...): reported, and the bench fails. */
const failures: string[] = [];

/** One scenario; its failure is recorded and the bench goes on, so one bad figure does not hide the others. */
async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push(`${what}: ${message}`);
    process.stderr.write(`  FAILED ${what}: ${message}\n`);
    return undefined;
  }
}

const builds = new Set<string>();

async function withServer<S extends BenchServer, T>(start: () => Promise<S>, run: (server: S) => Promise<T>): Promise<T> {
  const server = await start();
  builds.add(server.uws);
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

const none = { paced: undefined, fast: undefined, persisted: undefined };

async function measure(start: () => Promise<BenchServer>): Promise<Figures> {
  const { paced, fast, persisted } =
    only.has('fanout') || only.has('persistence')
      ? await withServer(start, async (server) => ({
          paced: only.has('fanout') ? await attempt(`${server.name} fan-out 5/s`, () => fanout(server, size.fanoutSockets, size.fanoutMessages, 5)) : undefined,
          fast: only.has('fanout') ? await attempt(`${server.name} fan-out max`, () => fanout(server, size.fanoutSockets, size.fanoutMessages, 0)) : undefined,
          persisted: only.has('persistence') ? await attempt(`${server.name} persistence`, () => persistence(server, size.members, size.persistSeconds)) : undefined,
        }))
      : none;
  // Each capacity figure on a fresh process: memory freed by an earlier run would hide the growth.
  const capacities: Array<CapacityFigures | undefined> = [];
  for (const sessions of only.has('capacity') ? size.capacity : []) {
    capacities.push(await withServer(start, (server) => attempt(`${server.name} capacity ${sessions}`, () => capacity(server, sessions, size.capacityIdleMs))));
  }
  return { paced, fast, capacity: capacities, persistence: persisted };
}

/** A scenario whose figures stand even when the load tester found something wrong: that fails the bench too. */
function noted<T extends { readonly failures: readonly string[] }>(what: string, figures: T | undefined): T | undefined {
  for (const failure of figures?.failures ?? []) failures.push(`${what}: ${failure}`);
  return figures;
}

/** The many-sessions run on `workers` processes of either server, each on a fresh start. */
const measureScale = (start: (workers: number) => Promise<BenchServer>): Promise<ScaleFigures | undefined> =>
  withServer(
    () => start(size.scale.workers),
    async (server) => noted(`${server.name} scale`, await attempt(`${server.name} scale`, () => scale(server, { ...size.scale, onProgress: progress(`${server.name} scale`) }))),
  );

const started = Date.now();
process.stderr.write(`bench${quick ? ' --quick' : ''} (${[...only].join(', ')}): raw uWS baseline first, then the chat server\n`);
const raw = await measure(() => startRawServer());
const chat = await measure(() => startChatServer());
// The same 5/s fan-out with the room's sockets spread over two nodes: about half of each message's deliveries cross over NOTIFY.
const twoNodes = only.has('two-nodes')
  ? await attempt('chat, 2 nodes fan-out 5/s', () => withServer(() => startChatServer(2), (server) => fanout(server, size.fanoutSockets, size.fanoutMessages, 5)))
  : undefined;
// Joins on one fresh node of each server: new users, then the same users back.
const joinsOn = (start: () => Promise<BenchServer>) =>
  withServer(start, (server) => attempt(`${server.name} joins`, () => joins(server, size.joins.sockets, size.joins.ramp, progress(`${server.name} joins`))));
const rawJoins = only.has('joins') ? await joinsOn(() => startRawServer()) : undefined;
const chatJoins = only.has('joins') ? await joinsOn(() => startChatServer()) : undefined;
// A node holding `size.storm` sessions SIGKILLed and started again: how long until every client is back.
const stormed = only.has('storm') ? await attempt(`chat storm ${size.storm}`, () => withServer(() => startChatServer(), (server) => storm(server, size.storm))) : undefined;
// One room filled across two processes of each server, each size on a fresh start.
const largeRooms: Array<{ chat: LargeRoomFigures | undefined; raw: LargeRoomFigures | undefined }> = [];
for (const sockets of only.has('large-room') ? size.largeRoom : []) {
  const fill = (start: () => Promise<BenchServer>) =>
    withServer(start, async (server) =>
      noted(`${server.name} large room ${sockets}`, await attempt(`${server.name} large room ${sockets}`, () => largeRoom(server, sockets, progress(`${server.name} large room ${sockets}`)))),
    );
  largeRooms.push({ raw: await fill(() => startRawServer(2)), chat: await fill(() => startChatServer(2)) });
}
const rawScale = only.has('scale') ? await measureScale(startRawServer) : undefined;
const chatScale = only.has('scale') ? await measureScale(startChatServer) : undefined;

const ratioAtMost = (value: number | undefined, baseline: number | undefined, factor: number): boolean | undefined =>
  value === undefined || baseline === undefined ? undefined : value <= factor * baseline;
const meets = (value: number | undefined, limit: number, atMost: boolean): boolean | undefined =>
  value === undefined ? undefined : atMost ? value <= limit : value >= limit;
const fanoutRows: Row[] = [
  { figure: `fan-out 5/s: deliveries/s (${size.fanoutSockets.toLocaleString('en-US')} sockets, ${size.fanoutMessages} msgs)`, chat: chat.paced?.deliveriesPerSec, raw: raw.paced?.deliveriesPerSec, unit: 'int' },
  { figure: 'fan-out 5/s: latency p50 ms', chat: chat.paced?.p50Ms, raw: raw.paced?.p50Ms, unit: 'ms' },
  {
    figure: 'fan-out 5/s: latency p99 ms',
    chat: chat.paced?.p99Ms,
    raw: raw.paced?.p99Ms,
    unit: 'ms',
    goal: { text: '<= 2x raw', met: chat.paced?.p99Ms === undefined || raw.paced?.p99Ms === undefined ? undefined : chat.paced.p99Ms <= 2 * raw.paced.p99Ms },
  },
  { figure: 'fan-out 5/s: server CPU us/delivery', chat: chat.paced?.cpuUsPerDelivery, raw: raw.paced?.cpuUsPerDelivery, unit: 'us' },
  { figure: 'fan-out max: deliveries/s', chat: chat.fast?.deliveriesPerSec, raw: raw.fast?.deliveriesPerSec, unit: 'int' },
  { figure: 'fan-out max: latency p50 ms', chat: chat.fast?.p50Ms, raw: raw.fast?.p50Ms, unit: 'ms' },
  { figure: 'fan-out max: latency p99 ms', chat: chat.fast?.p99Ms, raw: raw.fast?.p99Ms, unit: 'ms' },
  {
    figure: 'fan-out max: server CPU us/delivery',
    chat: chat.fast?.cpuUsPerDelivery,
    raw: raw.fast?.cpuUsPerDelivery,
    unit: 'us',
    goal: { text: '<= 1.5x raw', met: chat.fast === undefined || raw.fast === undefined ? undefined : chat.fast.cpuUsPerDelivery <= 1.5 * raw.fast.cpuUsPerDelivery },
  },
];
const capacityRows: Row[] = [
  ...size.capacity.flatMap((sessions, i): Row[] => {
    const last = i === size.capacity.length - 1;
    return [
      { figure: `capacity ${sessions.toLocaleString('en-US')}: sessions joined`, chat: chat.capacity[i]?.joined, raw: raw.capacity[i]?.joined, unit: 'int' },
      { figure: `capacity ${sessions.toLocaleString('en-US')}: RSS KiB/session at the join storm's peak`, chat: chat.capacity[i]?.peakRssPerSessionKiB, raw: raw.capacity[i]?.peakRssPerSessionKiB, unit: 'kib' },
      {
        figure: `capacity ${sessions.toLocaleString('en-US')}: server RSS KiB/session, settled`,
        chat: chat.capacity[i]?.rssPerSessionKiB,
        raw: raw.capacity[i]?.rssPerSessionKiB,
        unit: 'kib',
        ...(last ? { goal: { text: `${sessions.toLocaleString('en-US')} joined, <= 5 KiB`, met: (chat.capacity[i]?.joined ?? 0) >= sessions && (meets(chat.capacity[i]?.rssPerSessionKiB, 5, true) ?? false) } } : {}),
      },
    ];
  }),
];
const persistenceRows: Row[] = [
  {
    figure: `persistence: msgs/s stored + broadcast (${size.members}-member room)`,
    chat: chat.persistence?.storedPerSec,
    raw: raw.persistence?.storedPerSec,
    unit: 'int',
    goal: {
      text: '>= 0.9x raw',
      met: chat.persistence === undefined || raw.persistence === undefined ? undefined : chat.persistence.storedPerSec >= 0.9 * raw.persistence.storedPerSec,
    },
  },
  { figure: 'persistence: deliveries/s', chat: chat.persistence?.deliveriesPerSec, raw: raw.persistence?.deliveriesPerSec, unit: 'int' },
  {
    figure: 'persistence: latency p99 ms',
    chat: chat.persistence?.p99Ms,
    raw: raw.persistence?.p99Ms,
    unit: 'ms',
    goal: { text: '<= 1.5x raw', met: ratioAtMost(chat.persistence?.p99Ms, raw.persistence?.p99Ms, 1.5) },
  },
];
const sc = size.scale;
const scaleRows: Row[] = [
  {
    figure: `scale: sessions joined (${sc.sockets.toLocaleString('en-US')} in rooms of 100 with history, ${sc.workers} processes)`,
    chat: chatScale?.joined,
    raw: rawScale?.joined,
    unit: 'int',
    goal: { text: `all ${sc.sockets.toLocaleString('en-US')}`, met: chatScale === undefined ? undefined : chatScale.joined >= sc.sockets },
  },
  {
    figure: `scale: joins/s (offered ${sc.ramp.toLocaleString('en-US')}/s)`,
    chat: chatScale?.joinsPerSec,
    raw: rawScale?.joinsPerSec,
    unit: 'int',
    goal: { text: '>= 1,000/s', met: meets(chatScale?.joinsPerSec, 1_000, false) },
  },
  { figure: 'scale: join latency p50 ms', chat: chatScale?.joinP50Ms, raw: rawScale?.joinP50Ms, unit: 'ms' },
  { figure: 'scale: join latency p99 ms', chat: chatScale?.joinP99Ms, raw: rawScale?.joinP99Ms, unit: 'ms', goal: { text: '<= 500 ms', met: meets(chatScale?.joinP99Ms, 500, true) } },
  { figure: 'scale: server RSS KiB/session (all processes)', chat: chatScale?.rssPerSessionKiB, raw: rawScale?.rssPerSessionKiB, unit: 'kib' },
  { figure: 'scale: idle server CPU, % of one core (heartbeats only)', chat: chatScale?.idleCpuPercent, raw: rawScale?.idleCpuPercent, unit: 'us' },
  { figure: `scale: msgs/s stored + broadcast (one per room every 5 s)`, chat: chatScale?.storedPerSec, raw: rawScale?.storedPerSec, unit: 'int' },
  { figure: 'scale: deliveries/s', chat: chatScale?.deliveriesPerSec, raw: rawScale?.deliveriesPerSec, unit: 'int' },
  { figure: 'scale: lost + doubled', chat: chatScale === undefined ? undefined : chatScale.lost + chatScale.doubled, raw: rawScale === undefined ? undefined : rawScale.lost + rawScale.doubled, unit: 'int', goal: { text: '0', met: chatScale === undefined ? undefined : chatScale.lost + chatScale.doubled === 0 } },
  { figure: 'scale: latency p50 ms', chat: chatScale?.p50Ms, raw: rawScale?.p50Ms, unit: 'ms' },
  { figure: 'scale: latency p99 ms', chat: chatScale?.p99Ms, raw: rawScale?.p99Ms, unit: 'ms', goal: { text: '<= 2x raw', met: ratioAtMost(chatScale?.p99Ms, rawScale?.p99Ms, 2) } },
  { figure: 'scale: server CPU us/delivery', chat: chatScale?.cpuUsPerDelivery, raw: rawScale?.cpuUsPerDelivery, unit: 'us' },
  {
    figure: 'scale: broadcast to all: delivered (lost + doubled)',
    chat: chatScale?.broadcast.delivered,
    raw: rawScale?.broadcast.delivered,
    unit: 'int',
    goal: { text: 'lost = doubled = 0', met: chatScale === undefined ? undefined : chatScale.broadcast.lost + chatScale.broadcast.doubled === 0 && chatScale.broadcast.delivered > 0 },
  },
  { figure: 'scale: broadcast to all: latency p50 ms', chat: chatScale?.broadcast.p50Ms, raw: rawScale?.broadcast.p50Ms, unit: 'ms' },
  { figure: 'scale: broadcast to all: latency p99 ms', chat: chatScale?.broadcast.p99Ms, raw: rawScale?.broadcast.p99Ms, unit: 'ms', goal: { text: '<= 2x raw', met: ratioAtMost(chatScale?.broadcast.p99Ms, rawScale?.broadcast.p99Ms, 2) } },
  { figure: 'scale: broadcast to all: until the last socket ms', chat: chatScale?.broadcast.lastMs, raw: rawScale?.broadcast.lastMs, unit: 'ms' },
  { figure: 'scale: broadcast to all: server CPU us/delivery', chat: chatScale?.broadcast.cpuUsPerDelivery, raw: rawScale?.broadcast.cpuUsPerDelivery, unit: 'us' },
];
const [smallRoom, bigRoom] = [largeRooms[0], largeRooms[largeRooms.length - 1]];
const [smallSize, bigSize] = [size.largeRoom[0] ?? 0, size.largeRoom[size.largeRoom.length - 1] ?? 0];
const kib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / 1024);
const largeRoomRows: Row[] = [
  {
    figure: `large room: members joined (${bigSize.toLocaleString('en-US')} in one room, 2 processes, 250 joins/s)`,
    chat: bigRoom?.chat?.joined,
    raw: bigRoom?.raw?.joined,
    unit: 'int',
    goal: { text: `all ${bigSize.toLocaleString('en-US')}`, met: bigRoom?.chat === undefined ? undefined : bigRoom.chat.joined >= bigSize },
  },
  { figure: 'large room: join latency p99 ms', chat: bigRoom?.chat?.joinP99Ms, raw: bigRoom?.raw?.joinP99Ms, unit: 'ms' },
  { figure: `large room: presence KiB received per member, room of ${smallSize.toLocaleString('en-US')}`, chat: kib(smallRoom?.chat?.presenceBytesPerMember), raw: kib(smallRoom?.raw?.presenceBytesPerMember), unit: 'kib' },
  {
    figure: `large room: presence KiB received per member, room of ${bigSize.toLocaleString('en-US')}`,
    chat: kib(bigRoom?.chat?.presenceBytesPerMember),
    raw: kib(bigRoom?.raw?.presenceBytesPerMember),
    unit: 'kib',
    goal: {
      text: `O(N) in all: per member <= 1.5x the ${smallSize.toLocaleString('en-US')} room's`,
      met: ratioAtMost(bigRoom?.chat?.presenceBytesPerMember, smallRoom?.chat?.presenceBytesPerMember, 1.5),
    },
  },
  { figure: 'large room: server RSS MiB at the peak of the fill (both processes)', chat: bigRoom?.chat?.peakRssMiB, raw: bigRoom?.raw?.peakRssMiB, unit: 'int' },
  { figure: 'large room: server RSS KiB/session after the fill', chat: bigRoom?.chat?.rssPerSessionKiB, raw: bigRoom?.raw?.rssPerSessionKiB, unit: 'kib' },
  {
    figure: 'large room: lost + doubled',
    chat: bigRoom?.chat === undefined ? undefined : bigRoom.chat.lost + bigRoom.chat.doubled,
    raw: bigRoom?.raw === undefined ? undefined : bigRoom.raw.lost + bigRoom.raw.doubled,
    unit: 'int',
  },
];
const rows: Row[] = [
  ...(only.has('fanout') ? fanoutRows : []),
  ...(only.has('capacity') ? capacityRows : []),
  ...(only.has('persistence') ? persistenceRows : []),
  ...(only.has('joins') ? joinRows(size.joins.sockets, size.joins.ramp, chatJoins, rawJoins) : []),
  ...(only.has('scale') ? scaleRows : []),
  ...(only.has('large-room') ? largeRoomRows : []),
  ...(only.has('storm') ? stormRows(size.storm, stormed) : []),
];

// Two nodes next to one: both the chat server, in the same run.
const twoNodeRows: Row[] = [
  { figure: `fan-out 5/s: deliveries/s (${size.fanoutSockets.toLocaleString('en-US')} sockets, half on each node)`, chat: twoNodes?.deliveriesPerSec, raw: chat.paced?.deliveriesPerSec, unit: 'int' },
  { figure: 'fan-out 5/s: latency p50 ms', chat: twoNodes?.p50Ms, raw: chat.paced?.p50Ms, unit: 'ms' },
  { figure: 'fan-out 5/s: latency p99 ms', chat: twoNodes?.p99Ms, raw: chat.paced?.p99Ms, unit: 'ms' },
  { figure: 'fan-out 5/s: server CPU us/delivery (both nodes)', chat: twoNodes?.cpuUsPerDelivery, raw: chat.paced?.cpuUsPerDelivery, unit: 'us' },
];

const table = [
  markdownTable(rows),
  ...(only.has('two-nodes') ? [`two nodes (WORKERS=2: two processes on one port and one database, CLUSTER over LISTEN/NOTIFY) next to one:\n\n${markdownTable(twoNodeRows, ['two nodes', 'one node'])}`] : []),
].join('\n\n');
process.stdout.write(`\nnpm run bench${quick ? ' --quick' : ''} (${new Date().toISOString().slice(0, 10)}, node ${process.version}, uWS ${[...builds].join(' and ')}, ${Math.round((Date.now() - started) / 1000)} s)\n\n${table}\n`);
if (args.data.json !== undefined) writeFileSync(args.data.json, `${JSON.stringify({ quick, raw, chat, twoNodes, rawJoins, chatJoins, rawScale, chatScale, largeRooms, stormed, rows, twoNodeRows }, null, 2)}\n`);
const missed = rows.filter((row) => row.goal?.met !== true && row.goal !== undefined).map((row) => row.figure);
if (failures.length > 0) process.stdout.write(`\nscenarios that failed (n/a above):\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
if (missed.length > 0) process.stdout.write(`\ngoals missed or not measured: ${missed.join('; ')}\n`);
process.exit(missed.length === 0 && failures.length === 0 ? 0 : 1);
