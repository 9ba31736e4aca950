/**
 * Erlang C moved to workforce planning (server/planning/erlang.ts); the ACD's simulation tests and
 * benchmark still import it from here, so this re-export keeps their paths working.
 */
export { agentsForServiceLevel, averageSpeedOfAnswer, erlangB, erlangC, serviceLevel } from '../planning/erlang.ts';
