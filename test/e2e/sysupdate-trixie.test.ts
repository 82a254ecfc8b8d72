import { sysupdateTier } from './helpers/sysupdate-tier.js'

// systemd-sysupdate 257 from Debian trixie (Flatcar stable): every scenario, as far as the version supports it.
await sysupdateTier('trixie')
