import { sysupdateTier } from './helpers/sysupdate-tier.js'

// systemd-sysupdate 254 from Debian bookworm-backports (nearest to Flatcar LTS, 255): every scenario, as far as the version supports it.
await sysupdateTier('bookworm')
