// Scenarios for survival.test.ts that prove the harness itself: one harmless, one that must kill
// its process (an unhandled rejection made on purpose), one that throws.

import type { SurvivalScenario } from './survival.js';

/** Does nothing harmful: the child must survive. */
export const harmless: SurvivalScenario = async ({ node }) => {
  const reply = await node.call('survivor_echo', 'hello');
  return { reply };
};

/** An unhandled rejection of the scenario's own making: the child must die of it. */
export const deadly: SurvivalScenario = async () => {
  void Promise.reject(new Error('on purpose'));
  await new Promise((r) => setTimeout(r, 50));
};

/** A scenario that throws: reported as a scenario failure, not as survival. */
export const broken: SurvivalScenario = () => Promise.reject(new Error('scenario bug'));
