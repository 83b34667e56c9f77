#!/usr/bin/env pwsh
# Build entry point. On Linux: dotnet tool restore; dotnet pwsh ./build.ps1 <target>
#   build    restore and build everything, warnings as errors
#   test     unit and end-to-end tests (what CI runs)
#   bench    LoadBalancer.Bench in Release; pass its arguments after -BenchArgs, e.g. -BenchArgs load,--seconds,10
#   publish  a self-contained lb for linux-x64 into artifacts/publish
#   install  publish, then install the binary, lb.toml and the systemd unit under -Prefix (default /usr/local)
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'bench', 'publish', 'install')]
    [string] $Target = 'build',
    [string] $Configuration = 'Release',
    [string[]] $BenchArgs = @(),
    [string] $Prefix = '/usr/local',
    [string] $ConfigDir = '/etc/lb'
)

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Publish {
    Invoke-Dotnet publish LoadBalancer.Host/LoadBalancer.Host.csproj -c Release -r linux-x64 --self-contained true -o artifacts/publish
    Write-Host "published: artifacts/publish/lb"
}

switch ($Target) {
    'build' { Invoke-Dotnet build LoadBalancer.sln -c $Configuration }
    'test' { Invoke-Dotnet test LoadBalancer.sln -c $Configuration }
    'bench' { Invoke-Dotnet run -c Release --project LoadBalancer.Bench -- @BenchArgs }
    'publish' { Invoke-Publish }
    'install' {
        Invoke-Publish
        New-Item -ItemType Directory -Force -Path "$Prefix/lib/lb", "$Prefix/bin", $ConfigDir | Out-Null
        Copy-Item -Recurse -Force artifacts/publish/* "$Prefix/lib/lb/"
        if (-not (Test-Path "$Prefix/bin/lb")) { New-Item -ItemType SymbolicLink -Path "$Prefix/bin/lb" -Target "$Prefix/lib/lb/lb" | Out-Null }
        if (-not (Test-Path "$ConfigDir/lb.toml")) { Copy-Item lb.toml "$ConfigDir/lb.toml" }
        if (Test-Path deploy/lb.service) { Copy-Item -Force deploy/lb.service /etc/systemd/system/lb.service }
        Write-Host "installed $Prefix/bin/lb, $ConfigDir/lb.toml and /etc/systemd/system/lb.service"
    }
}
