// The gateway brings in ASP.NET Core, whose source generator would make the top-level Program public unless the
// program declares it: the tool's Program stays internal (it is no API, and the benchmarks define their own).
internal partial class Program;
