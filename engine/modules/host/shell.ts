/**
 * shell — like command, through /bin/sh: pipes, redirects, variables.
 *
 *   - shell: "swapon --show | wc -l"
 *     register: swaps
 *     changed_when: false
 */
import { commandModule } from './command.js';

export default commandModule('shell');
