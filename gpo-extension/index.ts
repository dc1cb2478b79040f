/**
 * Group Policy integration, the public surface (DESIGN §4): the admin side edits GPOs the way
 * GPMC does (GpoAdmin: Registry.pol in SYSVOL, version numbers, extension names, links); the
 * client side computes the resultant set of policy of an account (which GPOs apply, in which
 * order, and what every setting ends up as). This is the only place that knows the GPO layout.
 */
export * from './connection.js';
export * from './admin.js';
export * from './layout.js';
export * from './rsop.js';
export * from './security-filter.js';
export * from './target.js';
export * from './sysvol/index.js';
