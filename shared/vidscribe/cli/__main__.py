from .parser import console

console()
