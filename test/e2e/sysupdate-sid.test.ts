import { sysupdateTier } from './helpers/sysupdate-tier.js'

// systemd-sysupdate from Debian sid, the newest Debian has (262; Flatcar beta and alpha run 260): every scenario, as far as the version supports it.
await sysupdateTier('sid')
