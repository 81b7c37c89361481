import { greet } from '#shared/hello';
console.log(greet(process.argv[2] ?? 'x'));
