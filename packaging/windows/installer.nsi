; Filter Playground setup for Windows (NSIS 3, Modern UI 2).
;
;   makensis -V2 -DVERSION=0.1.0 -DSOURCE_DIR=C:\...\dist\filter-playground ^
;            -DOUTFILE=C:\...\dist\filter-playground-0.1.0-setup.exe ^
;            [-DICON=C:\...\filter-playground.ico] packaging\windows\installer.nsi
;
; SOURCE_DIR is the PyInstaller onedir folder (filter-playground.exe + _internal\). OUTFILE's
; folder must already exist: makensis does not create it. The same command works with the Linux
; makensis (Debian package nsis), which is how the tests build it.

Unicode true
; Must come before anything that writes data. One solid LZMA block compresses the many similar
; Qt and Python libraries together, which usually packs tighter than file by file.
SetCompressor /SOLID lzma
ManifestDPIAware true

!ifndef VERSION
  !error "VERSION is not defined: pass -DVERSION=x.y.z"
!endif
!ifndef SOURCE_DIR
  !error "SOURCE_DIR is not defined: pass -DSOURCE_DIR=<absolute path of the onedir bundle>"
!endif
!ifndef OUTFILE
  !error "OUTFILE is not defined: pass -DOUTFILE=<absolute path of the setup .exe>"
!endif
; Fail here, with the path, rather than with File's terser "no files found" further down.
!if ! /FileExists "${SOURCE_DIR}\filter-playground.exe"
  !error "${SOURCE_DIR} holds no filter-playground.exe: is SOURCE_DIR the onedir bundle?"
!endif

!define APP_NAME "Filter Playground"
!define APP_EXE "filter-playground.exe"
!ifndef PUBLISHER
  !define PUBLISHER "Filter Playground developers"
!endif
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\FilterPlayground"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"

Name "${APP_NAME} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP_NAME}"
RequestExecutionLevel admin
BrandingText "${APP_NAME} ${VERSION}"

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_ABORTWARNING

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
; No "Run Filter Playground" box on the finish page: the installer runs elevated, and the app
; would inherit administrator rights (and the admin's profile for its settings).
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ; The bundle is a 64-bit Python and Qt; on 32-bit Windows it could never start.
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP|MB_OK "${APP_NAME} needs 64-bit Windows."
    Abort
  ${EndIf}
  ; The stub is 32-bit: without this the uninstall key lands in WOW6432Node.
  SetRegView 64
  SetShellVarContext all
  ; InstallDirRegKey would read the 32-bit view, so an earlier install's folder is found here.
  ReadRegStr $0 HKLM "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $0 != ""
    StrCpy $INSTDIR $0
  ${EndIf}
FunctionEnd

Section "${APP_NAME}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; An upgrade must not mix the previous version's libraries with the new ones.
  RMDir /r "$INSTDIR\_internal"
  File /r "${SOURCE_DIR}\*"
  !ifdef ICON
    ; The exe may carry no icon of its own; shortcuts and Add/Remove Programs use this one.
    File "/oname=filter-playground.ico" "${ICON}"
    !define SHORTCUT_ICON "$INSTDIR\filter-playground.ico"
  !else
    !define SHORTCUT_ICON "$INSTDIR\${APP_EXE}"
  !endif

  CreateShortCut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "${SHORTCUT_ICON}" 0

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "${SHORTCUT_ICON}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
  ; Measured after copying, so the figure is what is on disk (Add/Remove Programs wants KB).
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  CreateShortCut "$DESKTOP\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "${SHORTCUT_ICON}" 0
SectionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecApp} "The application (required)."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecDesktop} "A shortcut on the desktop of every user."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  Delete "$DESKTOP\${APP_NAME}.lnk"

  ; Only what setup put there: the user may have pointed $INSTDIR at a folder holding other
  ; things, so no RMDir /r on $INSTDIR itself. A onedir bundle is the exe plus _internal\.
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\filter-playground.ico"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd
