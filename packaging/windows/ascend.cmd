@echo off
rem Ascend command line on the Node packaged with it.
"%~dp0node\node.exe" "%~dp0app\bin\run.js" %*
