/** assert, fail, debug, set_fact: controller modules. Their state is the variables they read and the facts they set; no host is touched. */
import { controller, moduleTable } from '../helpers/module-tester.js';

export const assert = moduleTable('assert', controller, [
  { name: 'every condition holds: ok, the success message shown', args: { that: ['size(dns) > 0', 'ip != ""'] }, vars: { dns: ['10.96.0.10'], ip: '10.0.0.1' }, says: 'All assertions passed', result: { msg: 'All assertions passed' } },
  { name: 'success_msg, quiet: registered, not shown', args: { that: 'x == 1', success_msg: 'x is one', quiet: true }, vars: { x: 1 }, result: { msg: 'x is one' } },
  { name: 'a condition fails: fail_msg and the expression', args: { that: ['x == 1', 'y == 2'], fail_msg: 'set y' }, vars: { x: 1, y: 3 }, fails: 'set y (y == 2)', result: { assertion: 'y == 2', evaluated_to: false } },
  { name: 'msg is fail_msg', args: { that: 'false', msg: 'never' }, fails: 'never (false)' },
  { name: 'no message: assertion failed', args: { that: 'x > 1' }, vars: { x: 1 }, fails: 'assertion failed (x > 1)' },
]);

export const fail = moduleTable('fail', controller, [
  { name: 'fails with msg, registered too', args: { msg: 'kubelet_node_ip is not set for w1' }, fails: 'kubelet_node_ip is not set for w1', result: { msg: 'kubelet_node_ip is not set for w1' } },
  { name: "no msg: Ansible's default", args: {}, fails: 'Failed as requested from task' },
]);

export const debug = moduleTable('debug', controller, [
  { name: 'msg is shown and registered', args: { msg: 'node w1 joins' }, says: 'node w1 joins', result: { msg: 'node w1 joins' } },
  { name: 'var: a dotted path', args: { var: 'swaps.stdout' }, vars: { swaps: { stdout: '0' } }, says: '0', result: { 'swaps.stdout': '0' } },
  { name: 'var undefined: says so', args: { var: 'nope' }, says: 'VARIABLE IS NOT DEFINED: nope' },
  { name: 'no arguments: Hello world!', args: {}, says: 'Hello world!' },
]);

export const setFact = moduleTable('set_fact', controller, [
  { name: 'facts are set (in check mode too) and registered', args: { node_ip: '10.0.0.1', pods: ['a'] }, facts: { node_ip: '10.0.0.1', pods: ['a'] }, result: { ansible_facts: { node_ip: '10.0.0.1', pods: ['a'] } } },
]);
