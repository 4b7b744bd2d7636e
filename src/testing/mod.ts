/**
 * Test helpers for protocols and reactors (`twisted.internet.testing`):
 * in-memory transports, a recording reactor, and loopback pumping. Nothing here
 * touches the network.
 *
 * @module
 */
