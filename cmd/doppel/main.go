// Command doppel changes the schema of a live MySQL or MariaDB table without blocking it.
package main

func main() {}
